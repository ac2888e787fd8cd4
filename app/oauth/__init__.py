"""OAuth 2.0 (client credentials, RFC 7662 introspection, RFC 7009 revocation) with Authlib."""
