import stat

from patron import settings


def test_secret_key_from_the_environment_wins(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.setenv("PATRON_SECRET_KEY", "from-the-environment")
    assert settings._secret_key() == "from-the-environment"
    assert not (tmp_path / "secret.key").exists()


def test_without_one_a_private_key_is_generated_once_per_install(monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "VAR_DIR", tmp_path)
    monkeypatch.delenv("PATRON_SECRET_KEY", raising=False)
    monkeypatch.delenv("PATRON_ALLOW_INSECURE_KEY", raising=False)
    first = settings._secret_key()
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first) >= 50
    assert settings._secret_key() == first  # stable across restarts

    other = tmp_path / "other"
    monkeypatch.setattr(settings, "VAR_DIR", other)
    assert settings._secret_key() != first  # never shared between installs
