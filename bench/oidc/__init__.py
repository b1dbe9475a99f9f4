"""The OIDC bench's driver: a provider-agnostic load generator, the OpenID flows, one adapter per provider."""
