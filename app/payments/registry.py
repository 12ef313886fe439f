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
    """Return the Chinese label of a provider name, or the name itself when it is unknown."""
    return PROVIDER_LABELS.get(name, name)


KNOWN_PROVIDERS = ("sandbox-wechat", "sandbox-alipay", "wechat", "alipay")


def check_configuration(config: dict) -> None:
    """Raise ValueError at start-up, not at payment time, on an unknown or unconfigured provider."""
    names = config["PAYMENT_PROVIDERS"]
    unknown = [name for name in names if name not in KNOWN_PROVIDERS]
    if unknown:
        raise ValueError(
            f"invalid PAYMENT_PROVIDERS: unknown providers {unknown}. "
            f"List some of {', '.join(KNOWN_PROVIDERS)}, separated by commas."
        )
    if "wechat" in names:
        from app.payments.providers.wechat import WeChatPayConfig

        if WeChatPayConfig.from_env(os.environ) is None:
            raise ValueError(_missing_configuration("wechat", "WECHAT_MCHID"))
    if "alipay" in names:
        from app.payments.providers.alipay import AlipayConfig

        if AlipayConfig.from_env(os.environ) is None:
            raise ValueError(_missing_configuration("alipay", "ALIPAY_APP_ID"))


def _missing_configuration(name: str, variable: str) -> str:
    prefix = variable.split("_", 1)[0]
    return (
        f"PAYMENT_PROVIDERS contains {name} but {variable} is missing: "
        f"set the {prefix}_* variables or remove {name} from PAYMENT_PROVIDERS"
    )


def enabled_provider_names() -> list[str]:
    """Return PAYMENT_PROVIDERS in the order the payment page offers them, e.g. ["wechat"]."""
    return list(current_app.config["PAYMENT_PROVIDERS"])


def provider(name: str) -> PaymentProvider:
    """Return the provider called ``name``, built once. Raises KeyError when it is not enabled."""
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
            raise RuntimeError(_missing_configuration("wechat", "WECHAT_MCHID"))
        return WeChatPayProvider(config)
    if name == "alipay":
        from app.payments.providers.alipay import AlipayConfig, AlipayProvider

        config = AlipayConfig.from_env(os.environ)
        if config is None:
            raise RuntimeError(_missing_configuration("alipay", "ALIPAY_APP_ID"))
        return AlipayProvider(config)
    raise KeyError(name)


def reset_cache() -> None:
    """Forget built providers (tests change the configuration)."""
    _cache.clear()
