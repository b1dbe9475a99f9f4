"""Tests of signing.pki: the CA, its certificates, CRLs and OCSP, the TSA and the key store."""
