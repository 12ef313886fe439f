"""Settings read from the environment, with defaults for a local SQLite run."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{BASE_DIR / 'instance' / 'platform.db'}"
    # psycopg 3 is the driver; accept the plain scheme that most tools print.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-secret-change-me")
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    BOOTSTRAP_SERVE_LOCAL = True
    WTF_CSRF_TIME_LIMIT = None
    # WTForms' own messages ("This field is required.") come from its zh catalogue instead of
    # Flask-WTF's Babel hook, which needs Flask-Babel (see forms/__init__.py).
    WTF_I18N_ENABLED = False

    # Name of the association shown as 所属培训机构 on every enrollment and order.
    TRAINING_ORGANIZATION = os.environ.get("TRAINING_ORGANIZATION", "厦门市特种设备协会")

    # Upload limits for the Excel import; the request is rejected above MAX_CONTENT_LENGTH.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
    IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", 20000))
    # Largest total size of an upload's unpacked parts: a deflated zip can grow ~1000-fold.
    IMPORT_MAX_UNPACKED_BYTES = int(os.environ.get("IMPORT_MAX_UNPACKED_BYTES", 200 * 1024 * 1024))
    # Uploaded workbooks wait here between preview and confirmation.
    IMPORT_DIR = os.environ.get("IMPORT_DIR", str(BASE_DIR / "instance" / "imports"))
    # Run import jobs in the request thread instead of a background thread (tests).
    IMPORT_INLINE = os.environ.get("IMPORT_INLINE", "0") == "1"

    # Enrollment documents (资料上传). Kept outside the static folder: they are served only
    # through an access-checked view.
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(BASE_DIR / "instance" / "uploads"))
    # Stored images are re-encoded with the longest side at most this many pixels.
    UPLOAD_MAX_SIDE = int(os.environ.get("UPLOAD_MAX_SIDE", 2000))
    UPLOAD_JPEG_QUALITY = int(os.environ.get("UPLOAD_JPEG_QUALITY", 85))
    # How long a trainee activation code stays valid.
    ACTIVATION_CODE_HOURS = int(os.environ.get("ACTIVATION_CODE_HOURS", 72))

    # Online payment (在线集体缴费). Providers offered on the payment page, in order: the two
    # sandbox channels (a local stand-in platform), or wechat and/or alipay, configured by
    # the WECHAT_* and ALIPAY_* variables described in README.md.
    PAYMENT_PROVIDERS = [
        name.strip()
        for name in os.environ.get("PAYMENT_PROVIDERS", "sandbox-wechat,sandbox-alipay").split(",")
        if name.strip()
    ]
    # Key the sandbox platform signs its notifications with.
    SANDBOX_PAY_KEY = os.environ.get("SANDBOX_PAY_KEY", "sandbox-" + SECRET_KEY)
    # Public address the providers send notifications to, e.g. https://px.example.cn; empty
    # means the address of the request that opened the QR code.
    PAYMENT_NOTIFY_BASE_URL = os.environ.get("PAYMENT_NOTIFY_BASE_URL", "")
    ORDER_NUMBER_PREFIX = os.environ.get("ORDER_NUMBER_PREFIX", "36EL")
    # An unpaid order is cancelled this many hours after it was placed.
    ORDER_HOLD_HOURS = float(os.environ.get("ORDER_HOLD_HOURS", "48"))

    BPMN_DIR = os.environ.get("BPMN_DIR", str(BASE_DIR / "bpmn"))
    PAGE_SIZE = 10


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
