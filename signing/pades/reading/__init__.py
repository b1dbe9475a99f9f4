"""Read a signed PDF with pyHanko and collect the facts the verdicts are made from.

This is the one place validation touches pyHanko and pyhanko-certvalidator: it reads the file leniently, runs
pyHanko's ETSI EN 319 102-1 processes (``ades_lta_validation`` for signatures, ``ades_timestamp_validation``
for document time-stamps) under a hard-fail revocation policy with explicit trust roots only, and translates
everything into plain :mod:`signing.pades.reading.facts` values. pyHanko's exceptions end here.

One job per module, from the file down:

- ``document``: :func:`examine_pdf`, the whole document's facts (the entry point);
- ``opening``, ``repair``, ``file_digest``: opening the file (leniently, repaired, or its readable prefix),
  placing its revisions, hashing it;
- ``signatures``, ``signature``, ``timestamps``: every signature field, one signature's AdES validation,
  signature and document time-stamps;
- ``signature_dictionary``, ``signature_dictionary_cache``, ``integrity``: what a signature field says before
  validation, its ``/Contents`` read fast, its signed bytes and what changed after them;
- ``certificates``, ``revocation``, ``dss``, ``validation_spec``, ``ocsp_hashes``, ``validator_errors``: certificate
  and revocation facts, the document security store, the validation policy in pyHanko's terms;
- ``carried``, ``sized_cache``: what a document or signature may carry before the verifier stops reading, and the
  caches of parsed revocation data bounded by bytes as well as count;
- ``snapshot``, ``pdf_tree``, ``javascript``: what each revision paints, and where the document runs scripts.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signing.pades.reading.certificates import certificate_facts_from_der
    from signing.pades.reading.document import examine_pdf

__all__ = ["certificate_facts_from_der", "examine_pdf"]


def __getattr__(name: str) -> Any:
    # pyHanko loads on first use: a worker that only answers OpenID requests never imports it (~43 MB a process),
    # and the plain modules beside these (errors, policy, facts, changes) are imported without it.
    if name == "examine_pdf":
        from signing.pades.reading.document import examine_pdf

        return examine_pdf
    if name == "certificate_facts_from_der":
        from signing.pades.reading.certificates import certificate_facts_from_der

        return certificate_facts_from_der
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
