"""SMS gateways behind one interface (``base.Gateway``), chosen by ``settings.SMS_GATEWAY``."""
