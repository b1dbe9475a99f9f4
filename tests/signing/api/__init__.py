"""Tests of the signing API (signing.views) and its access tokens (signing.auth)."""
