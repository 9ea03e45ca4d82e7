pytest_plugins = ["tests.fixtures.brokers", "tests.fixtures.workers"]
