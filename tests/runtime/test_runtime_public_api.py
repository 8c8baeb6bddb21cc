"""The runtime's public surface, pinned: what a client joining a daemon needs is exported."""

import sagaline.runtime


def test_the_runtime_exports_start_join_and_what_a_client_needs_to_authenticate():
    assert sorted(sagaline.runtime.__all__) == [
        "ActorRuntimeError",
        "ActorSystemHandle",
        "AskTimeout",
        "MULTIPROC",
        "NoSystemListening",
        "NotTheDaemon",
        "SECRET_ENV",
        "SECRET_FILE",
        "SIMPLE",
        "SecretError",
        "SystemNotOwned",
        "SystemStartError",
        "TransportPatchError",
        "allow_classes",
        "apply_patches",
        "install_transport",
        "join_system",
        "load_or_create_secret",
        "load_secret",
        "register_address_codec",
        "secret_path",
        "start_system",
        "verify_listener",
    ]
    assert all(hasattr(sagaline.runtime, name) for name in sagaline.runtime.__all__)
