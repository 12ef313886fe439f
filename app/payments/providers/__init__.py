"""Payment providers behind one interface: sandbox, WeChat Pay Native and Alipay precreate."""
