# ruff: noqa: E501  (a data file: realistic secrets and look-alikes are long single strings)
"""A second, independent corpus of secret formats for the privacy guard (issue #17).

``tests/privacy_corpus.py`` was written alongside the detectors. This one was written from the
providers' documented token formats and from the shapes public scanners look for (gitleaks'
and detect-secrets' rule lists, read for *which formats exist*, not copied), to find what the
guard missed: cloud keys, tokens of GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic,
Google, AWS, Azure; JWTs; PEM and OpenSSH keys, also inside JSON; connection strings;
basic-auth URLs; ``.env`` lines; high-entropy assignments; CLI flags; ``.netrc``.

Every value is generated from a fixed seed at import time, so no literal credential-shaped
string sits in the repository for a secret scanner to flag, and the corpus is the same on
every run. Each entry of ``SECRETS`` is ``(format, text, secret)``: after redaction the text
must not contain ``secret``. ``NEGATIVES`` are hard look-alikes that must be left exactly as
written.
"""

from __future__ import annotations

import base64
import hashlib
import random
import string
import uuid

_rng = random.Random(17)
_ALNUM = string.ascii_letters + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_B64 = _ALNUM + "+/"
_URLSAFE = _ALNUM + "-_"


def _r(n: int, alphabet: str = _ALNUM) -> str:
    """A random string that has at least one digit, one lower and one upper letter where the
    alphabet allows (real keys do; a run of letters only would be a word)."""
    while True:
        value = "".join(_rng.choice(alphabet) for _ in range(n))
        kinds = [any(c.isdigit() for c in value)]
        if any(c.islower() for c in alphabet):
            kinds.append(any(c.islower() for c in value))
        if any(c.isupper() for c in alphabet):
            kinds.append(any(c.isupper() for c in value))
        if all(kinds):
            return value


def _pem(label: str, lines: int = 6) -> tuple[str, str]:
    body = [_r(64, _B64) for _ in range(lines)] + [_r(24, _B64) + "=="]
    block = f"-----BEGIN {label}-----\n" + "\n".join(body) + f"\n-----END {label}-----"
    return block, body[2]  # a body line from the middle must disappear too


_RSA, _RSA_LINE = _pem("RSA " + "PRIVATE KEY")
_EC, _EC_LINE = _pem("EC " + "PRIVATE KEY", 3)
_PKCS8, _PKCS8_LINE = _pem("PRIVATE" + " KEY")
_ENC, _ENC_LINE = _pem("ENCRYPTED " + "PRIVATE KEY")
_OPENSSH, _OPENSSH_LINE = _pem("OPENSSH " + "PRIVATE KEY", 5)
_PGP_BODY = [_r(64, _B64) for _ in range(4)]
_PGP = (
    "-----BEGIN PGP "
    + "PRIVATE KEY BLOCK-----\n\n"
    + "\n".join(_PGP_BODY)
    + "\n="
    + _r(4, _B64)
    + "\n-----END PGP PRIVATE KEY BLOCK-----"
)
_GCP_KEY_LINE = _r(64, _B64)
_GCP_JSON = (
    '{"type": "service_account", "project_id": "acme-prod", "private_key_id": "'
    + _r(40, _HEX)
    + '", "private_key": "-----BEGIN '
    + "PRIVATE KEY-----\\n"
    + "\\n".join(_r(64, _B64) for _ in range(12))
    + "\\n"
    + _GCP_KEY_LINE
    + "\\n"
    + "\\n".join(_r(64, _B64) for _ in range(12))
    + "\\n"
    + _r(20, _B64)
    + '==\\n-----END PRIVATE KEY-----\\n", "client_email": "ci@acme-prod.iam.gserviceaccount.com"}'
)

_AWS_ID = "AK" + "IA" + _r(16, string.ascii_uppercase + string.digits)
_AWS_STS = "AS" + "IA" + _r(16, string.ascii_uppercase + string.digits)
_AWS_SECRET = _r(40, _B64)
_AWS_SESSION = "IQoJb3JpZ2luX2Vj" + _r(200, _B64)
_GH_PAT = "gh" + "p_" + _r(36)
_GH_OAUTH = "gh" + "o_" + _r(36)
_GH_APP = "gh" + "s_" + _r(36)
_GH_FINE = "github" + "_pat_" + _r(22) + "_" + _r(59)
_GITLAB = "gl" + "pat-" + _r(20, _URLSAFE)
_GITLAB_DEPLOY = "gl" + "dt-" + _r(20, _URLSAFE)
_GITLAB_RUNNER = "gl" + "rt-" + _r(20, _URLSAFE)
_SLACK_BOT = "xo" + "xb-" + _r(11, string.digits) + "-" + _r(13, string.digits) + "-" + _r(24)
_SLACK_USER = (
    "xo"
    + "xp-"
    + _r(11, string.digits)
    + "-"
    + _r(11, string.digits)
    + "-"
    + _r(13, string.digits)
    + "-"
    + _r(32, _HEX)
)
_SLACK_APP = (
    "xa"
    + "pp-1-"
    + _r(11, string.ascii_uppercase + string.digits)
    + "-"
    + _r(13, string.digits)
    + "-"
    + _r(64, _HEX)
)
_SLACK_HOOK = (
    "https://hooks.slack.com/services/T"
    + _r(8, string.ascii_uppercase + string.digits)
    + "/B"
    + _r(10, string.ascii_uppercase + string.digits)
    + "/"
    + _r(24)
)
_STRIPE = "sk" + "_live_" + _r(99)
_STRIPE_RK = "rk" + "_live_" + _r(99)
_OPENAI = "sk-" + "proj-" + _r(156, _URLSAFE)
_OPENAI_SVC = "sk-" + "svcacct-" + _r(74, _URLSAFE)
_ANTHROPIC = "sk-" + "ant-api03-" + _r(93, _URLSAFE) + "AA"
_ANTHROPIC_ADMIN = "sk-" + "ant-admin01-" + _r(93, _URLSAFE) + "AA"
_GOOGLE = "AI" + "za" + _r(35, _URLSAFE)
_GOOGLE_OAUTH = "ya" + "29." + _r(120, _URLSAFE)
_GOOGLE_REFRESH = "1//" + "0" + _r(100, _URLSAFE)
_AZURE_STORAGE = _r(86, _B64) + "=="
_AZURE_SAS_SIG = _r(43, _B64).replace("+", "%2B").replace("/", "%2F") + "%3D"
_AZURE_CLIENT = _r(3) + "8Q~" + _r(34, _URLSAFE + ".~")
_AZURE_OPENAI = _r(32, _HEX)
_TWILIO = "SK" + _r(32, _HEX)
_SENDGRID = "SG" + "." + _r(22, _URLSAFE) + "." + _r(43, _URLSAFE)
_HF = "hf" + "_" + _r(34)
_NPM = "np" + "m_" + _r(36)
_DIGITALOCEAN = "dop" + "_v1_" + _r(64, _HEX)
_SHOPIFY = "shp" + "at_" + _r(32, _HEX)
_DATABRICKS = "dap" + "i" + _r(32, _HEX)
_TELEGRAM = _r(10, string.digits) + ":AA" + _r(33, _URLSAFE)
_DISCORD = "M" + _r(23, _URLSAFE) + "." + _r(6, _URLSAFE) + "." + _r(38, _URLSAFE)
_MAILGUN = "key-" + _r(32, _HEX)
_MAILCHIMP = _r(32, _HEX) + "-us" + str(_rng.randrange(1, 21))
_SQUARE = "sq0" + "atp-" + _r(22, _URLSAFE)
_JWT = (
    base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT","kid":"k1"}').decode().rstrip("=")
    + "."
    + base64.urlsafe_b64encode(b'{"sub":"u-1842","role":"admin","exp":1893456000}')
    .decode()
    .rstrip("=")
    + "."
    + _r(86, _URLSAFE)
)
_PW = _r(14, _ALNUM + "!@#%^*")
_PW2 = _r(18, _ALNUM + "-_.")
_PW3 = _r(12, _ALNUM)
_BASIC = base64.b64encode(f"deploy:{_PW3}".encode()).decode()
_HIGH_ENTROPY = _r(48, _B64)
_HEXTOKEN = _r(40, _HEX)


# Every entry has its own value, so a leak is counted for the format that leaked it.
_AWS_SECRET_1 = _r(40, _B64)
_AWS_SECRET_2 = _r(40, _B64)
_PW_3 = _r(14, _ALNUM + "!@#%^*")
_HEXTOKEN_4 = _r(40, _HEX)
_PW3_5 = _r(12, _ALNUM)
_PW2_6 = _r(18, _ALNUM + "-_.")
_PW3_7 = _r(12, _ALNUM)
_PW3_8 = _r(12, _ALNUM)
_PW3_9 = _r(12, _ALNUM)
_PW3_10 = _r(12, _ALNUM)
_PW_11 = _r(14, _ALNUM + "!@#%^*")
_PW2_12 = _r(18, _ALNUM + "-_.")
_PW_13 = _r(14, _ALNUM + "!@#%^*")
_HIGH_ENTROPY_14 = _r(48, _B64)
_HEXTOKEN_15 = _r(40, _HEX)
_HIGH_ENTROPY_16 = _r(48, _B64)
_PW3_17 = _r(12, _ALNUM)
_PW3_18 = _r(12, _ALNUM)
_PW3_19 = _r(12, _ALNUM)
_PW3_20 = _r(12, _ALNUM)

#: (format, text, secret that must disappear)
SECRETS: list[tuple[str, str, str]] = [
    # -- cloud: AWS
    ("aws access key id", f"aws_access_key_id = {_AWS_ID}", _AWS_ID),
    ("aws sts key id", f"temporary creds {_AWS_STS} expire at noon", _AWS_STS),
    (
        "aws secret key (ini)",
        f"[default]\naws_access_key_id = {_AWS_ID}\naws_secret_access_key = {_AWS_SECRET}",
        _AWS_SECRET_1,
    ),
    ("aws secret key (env)", f"export AWS_SECRET_ACCESS_KEY={_AWS_SECRET_2}", _AWS_SECRET_2),
    ("aws session token", f"AWS_SESSION_TOKEN={_AWS_SESSION}", _AWS_SESSION),
    # -- cloud: Google
    ("google api key", f"const mapsKey = '{_GOOGLE}';", _GOOGLE),
    (
        "google oauth access token",
        f"got access token {_GOOGLE_OAUTH} from the playground",
        _GOOGLE_OAUTH,
    ),
    ("google oauth refresh token", f'"refresh_token": "{_GOOGLE_REFRESH}"', _GOOGLE_REFRESH),
    ("gcp service account json", _GCP_JSON, _GCP_KEY_LINE),
    # -- cloud: Azure
    (
        "azure storage connection string",
        f"DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={_AZURE_STORAGE};EndpointSuffix=core.windows.net",
        _AZURE_STORAGE,
    ),
    (
        "azure sas url",
        f"https://acmeprod.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2026-01-01T00:00:00Z&sig={_AZURE_SAS_SIG}",
        _AZURE_SAS_SIG,
    ),
    ("azure ad client secret", f"AZURE_CLIENT_SECRET={_AZURE_CLIENT}", _AZURE_CLIENT),
    ("azure openai key", f"the azure openai api-key header is {_AZURE_OPENAI}", _AZURE_OPENAI),
    (
        "azure sql connection string",
        f"Server=tcp:acme.database.windows.net,1433;Initial Catalog=crm;User ID=app;Password={_PW};Encrypt=True;",
        _PW_3,
    ),
    # -- source forges
    (
        "github classic pat",
        f"git remote set-url origin https://{_GH_PAT}@github.com/acme/api.git",
        _GH_PAT,
    ),
    ("github oauth token", f"oauth token {_GH_OAUTH}", _GH_OAUTH),
    ("github app token", f"GITHUB_TOKEN: {_GH_APP}", _GH_APP),
    ("github fine-grained pat", f"use {_GH_FINE} for the release job", _GH_FINE),
    ("gitlab pat", f"PRIVATE-TOKEN: {_GITLAB}", _GITLAB),
    ("gitlab deploy token", f"deploy token {_GITLAB_DEPLOY} can pull images", _GITLAB_DEPLOY),
    ("gitlab runner token", f'token = "{_GITLAB_RUNNER}"', _GITLAB_RUNNER),
    # -- chat, payments, mail
    ("slack bot token", f"SLACK_BOT_TOKEN={_SLACK_BOT}", _SLACK_BOT),
    ("slack user token", f"my slack user token is {_SLACK_USER}", _SLACK_USER),
    ("slack app-level token", f"socket mode uses {_SLACK_APP}", _SLACK_APP),
    ("slack webhook", f"post alerts to {_SLACK_HOOK}", _SLACK_HOOK),
    ("stripe secret key", f"Stripe::api_key = '{_STRIPE}'", _STRIPE),
    ("stripe restricted key", f"reporting uses {_STRIPE_RK}", _STRIPE_RK),
    ("twilio api key", f"twilio api key {_TWILIO}", _TWILIO),
    ("sendgrid key", f"SENDGRID_API_KEY={_SENDGRID}", _SENDGRID),
    ("mailgun key", f"mailgun api key: {_MAILGUN}", _MAILGUN),
    ("mailchimp key", f"MAILCHIMP_KEY: {_MAILCHIMP}", _MAILCHIMP),
    ("square access token", f"square sandbox token {_SQUARE}", _SQUARE),
    ("telegram bot token", f"the telegram bot token is {_TELEGRAM}", _TELEGRAM),
    ("discord bot token", f"DISCORD_TOKEN={_DISCORD}", _DISCORD),
    # -- AI providers
    ("openai project key", f"OPENAI_API_KEY={_OPENAI}", _OPENAI),
    ("openai service account key", f"the eval runner has {_OPENAI_SVC}", _OPENAI_SVC),
    ("anthropic api key", f"x-api-key: {_ANTHROPIC}", _ANTHROPIC),
    ("anthropic admin key", f"admin key {_ANTHROPIC_ADMIN} (org settings)", _ANTHROPIC_ADMIN),
    ("huggingface token", f"huggingface-cli login --token {_HF}", _HF),
    # -- other platforms
    ("npm token", f"//registry.npmjs.org/:_authToken={_NPM}", _NPM),
    ("digitalocean token", f"doctl auth init -t {_DIGITALOCEAN}", _DIGITALOCEAN),
    ("shopify token", f"X-Shopify-Access-Token: {_SHOPIFY}", _SHOPIFY),
    ("databricks token", f"DATABRICKS_TOKEN={_DATABRICKS}", _DATABRICKS),
    # -- JWTs and headers
    ("jwt", f"the id_token was {_JWT}", _JWT),
    (
        "bearer header",
        f'curl -H "Authorization: Bearer {_HEXTOKEN}" https://api.acme.dev',
        _HEXTOKEN_4,
    ),
    ("basic header", f"Authorization: Basic {_BASIC}", _BASIC),
    # -- private keys (multi-line, whole)
    ("pem rsa private key", f"the deploy key is\n{_RSA}\nkeep it off slack", _RSA_LINE),
    ("pem ec private key", _EC, _EC_LINE),
    ("pem pkcs8 private key", _PKCS8, _PKCS8_LINE),
    ("pem encrypted private key", _ENC, _ENC_LINE),
    ("openssh private key", f"~/.ssh/id_ed25519:\n{_OPENSSH}", _OPENSSH_LINE),
    ("pgp private key block", _PGP, _PGP_BODY[1]),
    # -- connection strings and URLs
    ("postgres url", f"DATABASE_URL=postgresql://billing:{_PW2}@db.internal:5432/billing", _PW2),
    (
        "mongodb srv url",
        f"mongodb+srv://admin:{_PW3}@cluster0.x1y2z.mongodb.net/prod?retryWrites=true",
        _PW3_5,
    ),
    ("redis url", f"REDIS_URL=rediss://default:{_PW2_6}@cache.acme.io:6380", _PW2_6),
    ("amqp url", f"amqp://guest:{_PW3_7}@rabbit:5672/", _PW3_7),
    (
        "basic-auth url",
        f"pip install --index-url https://ci:{_PW3_8}@pypi.acme.dev/simple acme-core",
        _PW3_9,
    ),
    ("jdbc password param", f"jdbc:mysql://db:3306/app?user=app&password={_PW3_10}", _PW3_10),
    ("odbc connection string", f"Driver={{ODBC Driver 18}};Server=db;Uid=sa;Pwd={_PW_11};", _PW_11),
    # -- .env, config files, shell
    (".env password", f"DB_PASSWORD={_PW2_12}", _PW2_12),
    (".env secret key", f"DJANGO_SECRET_KEY='{_HIGH_ENTROPY}'", _HIGH_ENTROPY),
    ("yaml password", f"database:\n  user: app\n  password: {_PW_13}\n", _PW_13),
    ("json secret", f'{{"api_secret": "{_HIGH_ENTROPY_14}"}}', _HIGH_ENTROPY_14),
    ("toml token", f'[auth]\ntoken = "{_HEXTOKEN_15}"', _HEXTOKEN_15),
    ("high-entropy assignment", f'signing_key = "{_HIGH_ENTROPY_16}"', _HIGH_ENTROPY_16),
    ("mysql -p flag", f"mysql -u root -p{_PW3_17} -h db app", _PW3_17),
    ("netrc line", f"machine api.acme.dev login ci password {_PW3_18}", _PW3_18),
    ("docker login", f"docker login -u ci -p {_PW3_19} registry.acme.dev", _PW3_19),
    ("htpasswd-style", f"export PGPASSWORD={_PW3_20}", _PW3_20),
]


def _sha(data: str, algo: str = "sha256") -> str:
    return hashlib.new(algo, data.encode()).hexdigest()


_PNG = base64.b64encode(bytes(_rng.randrange(256) for _ in range(120))).decode()

#: Hard look-alikes: random-looking or secret-adjacent, and not secrets.
NEGATIVES: list[str] = [
    f"fixed in commit {_sha('a', 'sha1')} on main",
    f"git revert {_sha('b', 'sha1')[:12]}",
    f"sha256:{_sha('c')} is the image digest",
    f"docker pull ghcr.io/acme/api@sha256:{_sha('d')}",
    f"checksum {_sha('e', 'md5')}  release.tar.gz",
    f"sha512 {_sha('f', 'sha512')}",
    f"trace id {uuid.UUID(int=_rng.getrandbits(128), version=4)} in the logs",
    f"tenant {uuid.UUID(int=_rng.getrandbits(128), version=4)} was migrated",
    f"the avatar is data:image/png;base64,{_PNG}",
    f"S3 object key uploads/2024/{_sha('g')[:32]}.png",
    "the integrity attribute is sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
    "npm lockfile: integrity sha512-q/ytWmRbXvR3Bd9GqyG1UG3sxHkN9GqTt8Jbq7hDkkxeoQSwyEbEgMhRXhSwTw0kLMG3sZ7sz8XvSSZPp1jI6A==",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop is my public key",
    "-----BEGIN PUBLIC KEY----- blocks are fine to share",
    "-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ\n-----END CERTIFICATE-----",
    "the bundle hash is 3f2a9c0b7e4d1f68a5c3e2b1d0f9e8c7 (webpack contenthash)",
    "Kubernetes pod api-7d9f8b6c5-x2k4p restarted",
    "the session id is generated with secrets.token_urlsafe(32)",
    "set AWS_SECRET_ACCESS_KEY in the CI settings, never in the repo",
    "password hashing uses argon2id with m=65536,t=3,p=4",
    "the password field must be at least 12 characters",
    "export GITHUB_TOKEN=$(gh auth token)",
    "token = os.environ['SLACK_BOT_TOKEN']",
    "api_key = config.get('openai', 'api_key')",
    "OPENAI_API_KEY=sk-... (put yours here)",
    "password: ${{ secrets.DB_PASSWORD }}",
    "secret_key_base is generated by rails credentials:edit",
    "mysql -u root -p app (it prompts for the password)",
    "see https://docs.stripe.com/keys for the sk_live_ / pk_live_ prefixes",
    "the ULID 01HGW2N7EHJ4QF7Y5ZJ8K3M9TX sorts by time",
    "base64 of 'hello world' is aGVsbG8gd29ybGQ=",
    "we moved from RS256 to EdDSA for JWT signing last sprint",
    "the cache key is user:42:profile:v3",
    "git log --format=%H shows full 40-char SHAs",
    "Version 3.12.1 (build 20241105.1) fixes CVE-2024-3094",
    "use `ssh-keygen -t ed25519 -C me@acme.dev` to make a key",
    "the secret to good tests is small fixtures",
    "the auth service keeps tokens for 15 minutes, refresh tokens for 30 days",
    "a 40-character lowercase hex string is a git object id, not a key",
    "our wifi is called GuestNetwork5G",
]
