"""The daemon's public surface and the plugin's fixtures, pinned."""

import sagaline.daemon
import sagaline.testing.plugin as plugin


def test_the_daemon_package_exports_its_small_surface():
    assert sorted(sagaline.daemon.__all__) == [
        "ConfigError",
        "Daemon",
        "DaemonConfig",
        "DaemonError",
        "PortInUse",
        "load_config",
        "run_daemon",
    ]


def test_the_plugin_offers_the_daemon_fixtures_beside_the_actor_system_ones():
    assert {"actor_system", "fake_clock", "sagaline_daemon_factory", "sagaline_daemon", "sagaline_cli"} <= set(
        plugin.__all__
    )
