"""Encryption at rest of personal identity fields (R-B4, R-D7): versioned AES-GCM data keys
(``KYB_DATA_KEYS``), the sealed-value column type, and keyed blind indexes for lookups."""
