# ruff: noqa: E501  (a data file: realistic secrets and look-alikes are long single strings)
"""A corpus for the privacy guard: realistic secrets, and look-alikes that are not secrets.

The secrets are shaped like the real thing (right prefix, length and alphabet) but were made up
for this file; none is a live credential. Each entry of SECRETS is ``(kind, text, secret)``:
the guard must report ``kind`` and the redacted text must no longer contain ``secret``.
"""

from __future__ import annotations

# Made-up values with realistic shapes (built by concatenation so secret scanners that read
# this repository do not flag the test data itself).
_B62 = "aZ3bY4cX5dW6eV7fU8gT9hS0iR1jQ2kP3lO4mN5nM6oL7pK8qJ9rI0sH1tG2uF3vE4wD5xC6yB7zA8"
_OPENAI_PROJ = "sk-" + "proj-" + "Xy7Qm2" + _B62[:60] + "_Tq9-" + _B62[10:40]
_OPENAI_LEGACY = "sk-" + _B62[:20] + "T3Blbk" + "FJ" + _B62[20:40]
_ANTHROPIC = "sk-" + "ant-api03-" + _B62[:70] + "-" + _B62[5:25] + "AA"
_GOOGLE = "AI" + "za" + "SyD3" + _B62[:31]
_AWS_ID = "AK" + "IA" + "Q3EGRZ7XJ2NLK5WU"
_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8Lm4Vt2Y"
_GITHUB = "gh" + "p_" + _B62[:36]
_GITHUB_FINE = "github" + "_pat_" + "11ABCDEFG0" + _B62[:72]
_GITLAB = "gl" + "pat-" + "x9Kq2Lm7Np4Rs8Tv1Wz3"
_SLACK = "xo" + "xb-" + "2849172635-5719283746152-" + "Zq8Lm4Vt2Yw1Xk9Rb3Nc7Jd"
_SLACK_HOOK = (
    "https://hooks.slack.com/services/" + "T024BE7LD/B06CK9NAJ2F/" + "Xq8Lm4Vt2Yw1Xk9Rb3Nc7Jd5"
)
_STRIPE = "sk" + "_live_" + "51HqLyjW" + _B62[:40]
_STRIPE_RK = "rk" + "_test_" + "51HqLyjW" + _B62[3:30]
_STRIPE_WH = "wh" + "sec_" + _B62[:32]
_SENDGRID = (
    "SG" + "." + "ngeVfQFYQlKU0ufo8x5d1A" + "." + "Tw2Ct8jNkXf4Ps9Lm3Qr7Vy0Bz6Hd1Ka5Ge2Jn8Wp4x"
)
_HF = "hf" + "_" + "KqLmNpRsTvWxYz2Bc4Df6Gh8Jk0Lm2Np4Qr"
_NPM = "np" + "m_" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5"
_PYPI = "py" + "pi-AgEIcHlwaS5vcmcCJDU3ZjA4N2U5LWQ2NTQtNDc3Ny1hOTk3LTQ5ZTNkYmFmNzI5YQ"
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSBMb3ZlbGFjZSIsImlhdCI6MTcwMDAwMDAwMH0"
    ".Zq8Lm4Vt2Yw1Xk9Rb3Nc7Jd5Hf0Gs6Pa4Te2Uy8Wi"
)
_PEM_BODY = "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi" + _B62[:40]
_PEM = (
    "-----BEGIN " + "RSA PRIVATE KEY-----\n" + _PEM_BODY + "\n" + _B62[:64] + "\n"
    "-----END RSA PRIVATE KEY-----"
)
_OPENSSH = (
    "-----BEGIN "
    + "OPENSSH PRIVATE KEY-----\n"
    + "b3BlbnNzaC1rZXktdjEAAAAA"
    + _B62[:40]
    + "\n-----END OPENSSH PRIVATE KEY-----"
)
_GOOGLE_OAUTH = "ya" + "29." + "a0AfB_byC" + _B62[:50]
_GOOGLE_CLIENT = "GOC" + "SPX-" + "Xq8Lm4Vt2Yw1Xk9Rb3Nc7Jd5Hf0G"

#: (kind, text, the secret that must disappear)
SECRETS: list[tuple[str, str, str]] = [
    ("openai_api_key", f"Use {_OPENAI_PROJ} for the summariser", _OPENAI_PROJ),
    ("openai_api_key", f"export OPENAI_API_KEY={_OPENAI_LEGACY}", _OPENAI_LEGACY),
    ("anthropic_api_key", f"ANTHROPIC_API_KEY='{_ANTHROPIC}'", _ANTHROPIC),
    ("anthropic_api_key", f"the claude key is {_ANTHROPIC}, keep it safe", _ANTHROPIC),
    ("google_api_key", f"Maps key: {_GOOGLE}", _GOOGLE),
    ("google_oauth_token", f"curl -H 'x-goog-token: {_GOOGLE_OAUTH}' ...", _GOOGLE_OAUTH),
    ("google_client_secret", f'"client_secret": "{_GOOGLE_CLIENT}"', _GOOGLE_CLIENT),
    ("aws_access_key_id", f"AWS key id {_AWS_ID} belongs to the ci user", _AWS_ID),
    (
        "aws_secret_access_key",
        f"aws_secret_access_key = {_AWS_SECRET}",
        _AWS_SECRET,
    ),
    (
        "aws_secret_access_key",
        f"The AWS secret for deploys is {_AWS_SECRET} (rotate in May)",
        _AWS_SECRET,
    ),
    ("aws_secret_access_key", f'{{"SecretAccessKey": "{_AWS_SECRET}"}}', _AWS_SECRET),
    ("github_token", f"git clone with token {_GITHUB}", _GITHUB),
    ("github_token", f"GH_TOKEN={_GITHUB_FINE}", _GITHUB_FINE),
    ("gitlab_token", f"gitlab: {_GITLAB}", _GITLAB),
    ("slack_token", f"bot token {_SLACK} posts to #deploys", _SLACK),
    ("slack_webhook", f"alerts go to {_SLACK_HOOK}", _SLACK_HOOK),
    ("stripe_secret_key", f'stripe.api_key = "{_STRIPE}"', _STRIPE),
    ("stripe_secret_key", f"restricted key {_STRIPE_RK}", _STRIPE_RK),
    ("stripe_webhook_secret", f"STRIPE_WEBHOOK_SECRET={_STRIPE_WH}", _STRIPE_WH),
    ("sendgrid_api_key", f"SendGrid: {_SENDGRID}", _SENDGRID),
    ("huggingface_token", f"HF_TOKEN={_HF}", _HF),
    ("npm_token", f"//registry.npmjs.org/:_authToken={_NPM}", _NPM),
    ("pypi_token", f"password = {_PYPI}", _PYPI),
    ("jwt", f"session cookie was {_JWT}", _JWT),
    (
        "bearer_token",
        "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0zz",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0zz",
    ),
    ("basic_auth", "Authorization: Basic YWRtaW46aHVudGVyMg==", "YWRtaW46aHVudGVyMg=="),
    ("private_key", f"deploy key:\n{_PEM}\nend", _PEM_BODY),
    ("private_key", _OPENSSH, "b3BlbnNzaC1rZXktdjEAAAAA"),
    (
        "password_in_url",
        "DATABASE_URL=postgres://app:Tr0ub4dor&3@db.internal:5432/billing",
        "Tr0ub4dor&3",
    ),
    (
        "password_in_url",
        "mongodb+srv://admin:p%40ssw0rd@cluster0.ab1cd.mongodb.net/test",
        "p%40ssw0rd",
    ),
    ("password_in_url", "redis://:s3cretRedisPw@cache:6379/0", "s3cretRedisPw"),
    (
        "password_in_url",
        "fetch https://deploy:hunter2hunter2@git.example.com/repo.git",
        "hunter2hunter2",
    ),
    (
        "connection_string",
        "Server=tcp:prod.database.windows.net,1433;Database=crm;User ID=sa;Password=P@55w0rd!2024;",
        "P@55w0rd!2024",
    ),
    (
        "connection_string",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=Zq8Lm4Vt2Yw1Xk9Rb3Nc7Jd5Hf0Gs6Pa4Te2Uy8Wi+Ab==;EndpointSuffix=core.windows.net",
        "Zq8Lm4Vt2Yw1Xk9Rb3Nc7Jd5Hf0Gs6Pa4Te2Uy8Wi+Ab==",
    ),
    ("password", "the staging db password=Winter2024! for now", "Winter2024!"),
    ("password", 'DB_PASSWORD="correct-horse-battery-staple"', "correct-horse-battery-staple"),
    ("password", "mysql password: hunter2", "hunter2"),
    ("password", '{"user": "admin", "password": "Sup3rS3cret"}', "Sup3rS3cret"),
    ("token", "api token = 4c1d9a77e2b94f0c8a6e5d3b2a1f0e9d", "4c1d9a77e2b94f0c8a6e5d3b2a1f0e9d"),
    ("token", "REFRESH_TOKEN='r1.abcDEF.123456'", "r1.abcDEF.123456"),
    ("secret", "JWT_SECRET=longRandomSigningValue77", "longRandomSigningValue77"),
    ("secret", "client_secret: 8Q~zXy7.abcdEFGH_ijklMNOP-qrst", "8Q~zXy7.abcdEFGH_ijklMNOP-qrst"),
    ("secret", "api_key: 'c0ffee-b4b3-1234'", "c0ffee-b4b3-1234"),
]

#: Text that looks secret-ish but must be stored exactly as written.
LOOKALIKES: list[str] = [
    # hashes and ids
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed the flaky test",
    "sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "md5 of the release tarball is d41d8cd98f00b204e9800998ecf8427e",
    "request id 123e4567-e89b-12d3-a456-426614174000 timed out",
    "the user id is 550e8400-e29b-41d4-a716-446655440000 in staging",
    "git checkout -b feature/ABC-1234-secret-sharing",
    "blake2b digest 0a3c5e7f9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a",
    "ULID 01ARZ3NDEKTSV4RRFFQ69G5FAV identifies the event",
    # base64 images and blobs
    "logo: data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
    "favicon data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7",
    "the fixture is base64 'SGVsbG8sIFdvcmxkISBUaGlzIGlzIGp1c3QgYSB0ZXN0IGZpbGUu'",
    # code identifiers and code that handles secrets without containing one
    "read the key with os.environ['OPENAI_API_KEY'] and never hard-code it",
    "def check_password(password: str) -> bool: return bcrypt.verify(password, stored)",
    "token = get_token(session)",
    "password=os.getenv('DB_PASSWORD')",
    "client = OpenAI(api_key=api_key)",
    "token: Optional[str] = None",
    "if token == expected_token: grant()",
    "max_tokens=4096 keeps answers short",
    "tokenizer = AutoTokenizer.from_pretrained('bert-base-uncased')",
    "SECRET_KEY = settings.SECRET_KEY",
    "set password=${DB_PASSWORD} in the compose file",
    "PASSWORD=<your-password-here>",
    "api_key: your-api-key",
    "password = None",
    "password_reset_token_ttl = 3600",
    "use sk-learn-compatible-estimator-pipeline wrappers",
    "the risk-assessment-framework-document-v2 is in drive",
    "class SecretManagerClient uses get_secret_value()",
    "the AWS region is eu-west-1 and the bucket is acme-prod-artifacts-2024",
    "pk_live_51HqLyjWxyzPublishableKeyIsPublic12 is the publishable stripe key",
    "AKIA is the prefix of AWS access keys; never commit one",
    "eyJ is what base64 of '{\"' starts with, so JWT headers begin with it",
    # forms found in real code (a scan of 1.3M lines of installed packages)
    "Token: FG_DEFAULT,",
    "Token: '#f8f8f2', # class: ''",
    "THREAD_SET_THREAD_TOKEN = 0x0080",
    "token = nextchar",
    "getpass.getpass = fallback",
    'AttributeOID.CHALLENGE_PASSWORD: "challengePassword",',
    'print(f"password={password!r}")',
    '"pwd": "IPython.core.magics.osm:OSMagics",',
    '_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"',
    "PLAIN_PASSWORD: SocketOption = SocketOption.PLAIN_PASSWORD",
    "Pass :meth:`peek` a default value to return that instead of raising",
    'password = ":****"',
    "e.g. `pass` in `https://user:pass@host:port/path?query#fragment`",
    # URLs and addresses without credentials
    "clone https://github.com/memorymesh/memorymesh.git",
    "git@github.com:memorymesh/memorymesh.git is the ssh remote",
    "docs at https://user@docs.example.com/guide (no password there)",
    "open http://localhost:8080/admin?user=me",
    "postgres://localhost:5432/billing is the local database",
    "postgres://app:${DB_PASSWORD}@db:5432/billing from the env",
    # prose about secrets
    "Never commit .env files or API keys to the repository",
    "The token: expired after an hour, so we refresh it",
    "the secret: sauce is good tests",
    "Rotate the password every 90 days; the password policy is in the wiki",
    "Use a bearer token in the Authorization header",
    "the session token TTL is 30 days",
    # numbers, versions, dates
    "release 2024.11.25 shipped at 14:32:07 UTC to 10.0.12.7",
    "call +1-415-555-0134 for the on-call engineer",
    "ISBN 978-3-16-148410-0",
    "build 7f3a9c2 on node 20.11.1 with npm 10.2.4",
]
