"""The payment providers this installation offers, configured from the environment."""

import os

from flask import current_app

from app.payments.providers.base import PaymentProvider

_cache: dict[str, PaymentProvider] = {}

# Labels for pages that list past attempts, whether or not the provider is still enabled.
PROVIDER_LABELS = {
    "wechat": "微信支付",
    "alipay": "支付宝",
    "sandbox-wechat": "微信支付（模拟）",
    "sandbox-alipay": "支付宝（模拟）",
}


def provider_label(name: str) -> str:
    return PROVIDER_LABELS.get(name, name)


KNOWN_PROVIDERS = ("sandbox-wechat", "sandbox-alipay", "wechat", "alipay")


def check_configuration(config: dict) -> None:
    """Fail at start-up, not at payment time, on an unknown or half-configured provider."""
    names = config["PAYMENT_PROVIDERS"]
    unknown = [name for name in names if name not in KNOWN_PROVIDERS]
    if unknown:
        raise ValueError(
            f"PAYMENT_PROVIDERS names unknown providers {unknown}; known: {KNOWN_PROVIDERS}"
        )
    if "wechat" in names:
        from app.payments.providers.wechat import WeChatPayConfig

        if WeChatPayConfig.from_env(os.environ) is None:
            raise ValueError("PAYMENT_PROVIDERS names wechat but WECHAT_MCHID is not set")
    if "alipay" in names:
        from app.payments.providers.alipay import AlipayConfig

        if AlipayConfig.from_env(os.environ) is None:
            raise ValueError("PAYMENT_PROVIDERS names alipay but ALIPAY_APP_ID is not set")


def enabled_provider_names() -> list[str]:
    """PAYMENT_PROVIDERS in the order the payment page offers them, e.g. ["wechat", "alipay"]."""
    return list(current_app.config["PAYMENT_PROVIDERS"])


def provider(name: str) -> PaymentProvider:
    """The provider called ``name``; KeyError when it is not enabled here."""
    if name not in enabled_provider_names():
        raise KeyError(name)
    if name not in _cache:
        _cache[name] = _build(name)
    return _cache[name]


def _build(name: str) -> PaymentProvider:
    if name.startswith("sandbox-"):
        from app.payments.sandbox import SandboxProvider

        return SandboxProvider(name, current_app.config["SANDBOX_PAY_KEY"])
    if name == "wechat":
        from app.payments.providers.wechat import WeChatPayConfig, WeChatPayProvider

        config = WeChatPayConfig.from_env(os.environ)
        if config is None:
            raise RuntimeError("PAYMENT_PROVIDERS names wechat but WECHAT_MCHID is not set")
        return WeChatPayProvider(config)
    if name == "alipay":
        from app.payments.providers.alipay import AlipayConfig, AlipayProvider

        config = AlipayConfig.from_env(os.environ)
        if config is None:
            raise RuntimeError("PAYMENT_PROVIDERS names alipay but ALIPAY_APP_ID is not set")
        return AlipayProvider(config)
    raise KeyError(name)


def reset_cache() -> None:
    """Forget built providers (tests change the configuration)."""
    _cache.clear()
