"""Route modules of the web application; each has ``register(app, web)``."""
