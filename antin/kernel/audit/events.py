"""Audit event names, shaped ``"area:subject:action"``. Add a member here for each new kind of event."""

from __future__ import annotations

import enum

__all__ = ["AuditEvent"]


class AuditEvent(enum.StrEnum):
    # the platform itself
    INSTANCE_START = "instance:process:start"
    SETTINGS_REFUSED = "instance:settings:refused"
    AUDIT_VERIFY = "audit:chain:verify"

    # sign-in and sessions
    LOGIN_PASSWORD_SUCCESS = "login:password:success"
    LOGIN_PASSWORD_FAILURE = "login:password:failure"
    LOGIN_THROTTLED = "login:attempt:throttled"
    LOGIN_ACCOUNT_LOCKED = "login:account:locked"
    PASSWORD_CHANGE = "login:password:change"
    SESSION_LOGOUT = "session:sso:logout"
    SESSION_START = "session:sso:start"
    SESSION_LOGOUT_EVERYWHERE = "session:sso:logout-everywhere"

    # strong authentication (idp/mfa)
    MFA_TOTP_ENROL = "mfa:totp:enrol"
    MFA_TOTP_SUCCESS = "mfa:totp:success"
    MFA_TOTP_FAILURE = "mfa:totp:failure"
    MFA_TOTP_REPLAY = "mfa:totp:replay"
    MFA_CODE_THROTTLED = "mfa:code:throttled"
    MFA_RECOVERY_GENERATE = "mfa:recovery:generate"
    MFA_RECOVERY_USE = "mfa:recovery:use"
    MFA_RECOVERY_FAILURE = "mfa:recovery:failure"
    MFA_FACTOR_REMOVE = "mfa:factor:remove"
    MFA_FACTOR_RENAME = "mfa:factor:rename"
    MFA_FACTORS_RESET = "mfa:factors:reset"
    MFA_WEBAUTHN_REGISTER = "mfa:webauthn:register"
    MFA_WEBAUTHN_REGISTER_FAILURE = "mfa:webauthn:register-failure"
    MFA_WEBAUTHN_SUCCESS = "mfa:webauthn:success"
    MFA_WEBAUTHN_FAILURE = "mfa:webauthn:failure"
    MFA_WEBAUTHN_CLONED = "mfa:webauthn:cloned"
    MFA_MAIL_SENT = "mfa:mail:sent"
    MFA_ENROLMENT_POSTPONE = "mfa:enrolment:postpone"
    MFA_MAIL_FAILURE = "mfa:mail:failure"

    # the OpenID provider
    OAUTH_TOKEN_ISSUE = "oauth:token:issue"
    OAUTH_TOKEN_REFRESH = "oauth:token:refresh"
    OAUTH_TOKEN_REVOKE = "oauth:token:revoke"
    OAUTH_TOKEN_REUSE = "oauth:token:reuse"
    OAUTH_CODE_REPLAY = "oauth:code:replay"
    OAUTH_CONSENT_GRANT = "oauth:consent:grant"
    OAUTH_CONSENT_REVOKE = "oauth:consent:revoke"
    OAUTH_CLIENT_CREATE = "oauth:client:create"
    OAUTH_CLIENT_ROTATE = "oauth:client:rotate-secret"
    OAUTH_CLIENT_DISABLE = "oauth:client:disable"
    OAUTH_CLIENT_SCOPES = "oauth:client:scopes"
    OAUTH_CLIENT_HOME_URL = "oauth:client:home-url"
    OAUTH_CLIENT_ACR = "oauth:client:acr"
    OAUTH_CLIENT_UPDATE = "oauth:client:update"  # a registration edited (console, admin API): before and after
    OAUTH_KEY_ROTATE = "oauth:key:rotate"

    # directory administration
    DIRECTORY_USER_CREATE = "directory:user:create"
    DIRECTORY_USER_MODIFY = "directory:user:modify"
    DIRECTORY_USER_MOVE = "directory:user:move"
    DIRECTORY_USER_DISABLE = "directory:user:disable"
    DIRECTORY_USER_ENABLE = "directory:user:enable"
    DIRECTORY_USER_DELETE = "directory:user:delete"
    DIRECTORY_PASSWORD_RESET = "directory:password:reset"
    DIRECTORY_ACCOUNT_UNLOCK = "directory:account:unlock"
    DIRECTORY_UNIT_CREATE = "directory:unit:create"
    DIRECTORY_UNIT_MODIFY = "directory:unit:modify"
    DIRECTORY_UNIT_MOVE = "directory:unit:move"
    DIRECTORY_UNIT_DELETE = "directory:unit:delete"
    DIRECTORY_GROUP_CREATE = "directory:group:create"
    DIRECTORY_GROUP_DELETE = "directory:group:delete"
    DIRECTORY_GROUP_MEMBER_ADD = "directory:group:member-add"
    DIRECTORY_GROUP_MEMBER_REMOVE = "directory:group:member-remove"
    DIRECTORY_IMPORT = "directory:entries:import"
    DIRECTORY_EXPORT = "directory:entries:export"  # officials or units exported as CSV by an administrator

    # delegated administration
    ADMIN_GRANT_ADD = "admin:grant:add"
    ADMIN_GRANT_REVOKE = "admin:grant:revoke"
    ADMIN_SESSION_END = "admin:session:end"  # an administrator signed one of an official's sessions out
    ADMIN_MAIL_SENT = "admin:mail:sent"  # a reset password e-mailed to the official (the server accepted it)
    ADMIN_MAIL_FAILURE = "admin:mail:failure"  # …and given up (the server's reason; never the password)

    # signing, PKI and time-stamping
    SIGNING_DOCUMENT_SIGN = "signing:document:sign"
    SIGNING_DOCUMENT_UPLOAD = "signing:document:upload"
    SIGNING_DOCUMENT_PLACE = "signing:document:place"
    SIGNING_DOCUMENT_COMPLETE = "signing:document:complete"
    SIGNING_DOCUMENT_REFUSE = "signing:document:refuse"
    SIGNING_DOCUMENT_DOWNLOAD = "signing:document:download"
    SIGNING_DOCUMENT_CANCEL = "signing:document:cancel"
    SIGNING_DOCUMENT_REVIEW = "signing:document:review"  # a reviewer approved or rejected, with their comment
    SIGNING_DOCUMENT_REMIND = "signing:document:remind"  # a step's deadline is near or past: its official reminded
    SIGNING_DOCUMENT_RESEND = "signing:document:resend"  # the drafter re-sent a rejected document (new round)
    SIGNING_MAIL_FAILURE = "signing:mail:failure"  # a workflow e-mail the SMTP server did not take
    SIGNING_DOCUMENT_ISSUE = "signing:document:issue"  # the records office sent it to its recipients
    SIGNING_REQUEST_CREATE = "signing:request:create"
    SIGNING_WEBHOOK_SECRET = "signing:webhook:secret"
    SIGNING_SOLE_CONTROL_BEGIN = "signing:sole_control:begin"
    SIGNING_SOLE_CONTROL_GRANT = "signing:sole_control:grant"
    SIGNING_SOLE_CONTROL_REFUSE = "signing:sole_control:refuse"
    SIGNING_CSC_AUTHORISE = "signing:csc:authorise"
    SIGNING_CSC_SIGN_HASH = "signing:csc:sign-hash"
    SIGNING_CSC_REFUSE = "signing:csc:refuse"
    PKI_CERTIFICATE_ISSUE = "pki:certificate:issue"
    PKI_CERTIFICATE_REVOKE = "pki:certificate:revoke"
    PKI_CA_IMPORT = "pki:ca:import"
    PKI_CA_RENEW = "pki:ca:renew"  # the OCSP responder's or the TSA's certificate renewed (serials before and after)
    PKI_TRUST_ADD = "pki:trust:add"
    PKI_TRUST_REMOVE = "pki:trust:remove"
    TSA_TOKEN_ISSUE = "tsa:token:issue"
