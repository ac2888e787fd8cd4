"""KYB risk checks: facts, the versioned policy, the check registry and the assessment.

Pure decision logic; no Flask, database or application imports (tests/unit/checks/test_imports.py).
"""
