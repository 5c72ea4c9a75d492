"""A module whose import raises, as a handler validating its settings at cold start does."""


class ConfigurationError(Exception):
    pass


raise ConfigurationError("SETTING is missing")


def handler(event, context):
    return None
