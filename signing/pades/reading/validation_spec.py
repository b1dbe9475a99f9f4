"""pyHanko's validation spec for our :class:`~signing.pades.reading.policy.ValidationPolicy`.

Hard-fail revocation checking for end-entity and CA certificates, explicit trust roots only, the policy's weak
algorithms refused, certificates never fetched, revocation data fetched online only when the policy says so.
Importing this module lets certvalidator match OCSP responses hashed with SHA-2 (:mod:`.ocsp_hashes`) and look
large CRLs up by serial number (:mod:`.crl_lookup`).
"""

from __future__ import annotations

import functools

from pyhanko.sign.validation.policy_decl import (
    CertificateFetchingRule,
    LocalKnowledge,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    DisallowWeakAlgorithmsPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from signing.pades.reading import crl_lookup, ocsp_hashes
from signing.pades.reading.policy import ValidationPolicy
from signing.shared_certificates import parsed_whole

__all__ = ["validation_spec"]

ocsp_hashes.install()
crl_lookup.install()


@functools.lru_cache(maxsize=16)
def _trust_manager(roots_der: tuple[bytes, ...]) -> SimpleTrustManager:
    """The trust anchors, parsed once per trust list: a worker validates against the same list all day, and
    asn1crypto prepares names for comparison (LDAP string preparation, slow on Vietnamese names) once per object.
    What the comparisons read is computed here, so that threads sharing the objects only ever read them."""
    roots = [parsed_whole(der) for der in roots_der]
    return SimpleTrustManager.build(trust_roots=roots)


def validation_spec(policy: ValidationPolicy, knowledge: LocalKnowledge) -> SignatureValidationSpec:
    """The spec every signature and time-stamp of one document is validated under."""
    hard_fail = RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    )
    algorithms = DisallowWeakAlgorithmsPolicy(
        weak_hash_algos=set(policy.weak_digest_algorithms), rsa_key_size_threshold=policy.min_rsa_bits
    )
    cert_policy = CertValidationPolicySpec(
        trust_manager=_trust_manager(policy.trust_roots),
        revinfo_policy=CertRevTrustPolicy(hard_fail),
        algorithm_usage_policy=algorithms,
    )
    gathering = RevocationInfoGatheringSpec(
        online_fetching_rule=(
            RevinfoOnlineFetchingRule.NO_HISTORICAL_FETCH
            if policy.fetch_revocation
            else RevinfoOnlineFetchingRule.LOCAL_ONLY
        ),
        certificate_fetching_rule=CertificateFetchingRule.NEVER_FETCH,
    )
    return SignatureValidationSpec(
        cert_validation_policy=cert_policy, revinfo_gathering_policy=gathering, local_knowledge=knowledge
    )
