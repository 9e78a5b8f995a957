"""Published mechanism modules: thrombopoiesis physiology, c-Mpl receptor, ITP, drug PK."""
