import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.leads.models import Lead

pytestmark = pytest.mark.django_db


def test_import_command_reports_refused_lines(tmp_path, rep_north, capsys):
    path = tmp_path / "leads.csv"
    path.write_text("email;company;owner\nann@example.com;Acme;\nbob@;Bee;\n;Cee;nobody\n")
    call_command("leads", "import", str(path), "--as", "rep_north")
    out, err = capsys.readouterr()
    assert "1 imported, 2 refused." in out
    assert "line 3: email:" in err and "line 4: owner: No user “nobody”." in err
    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.owner, lead.source) == (
        "ann@example.com",
        "Acme",
        rep_north,
        "import",
    )


def test_import_command_needs_a_user_and_a_file(tmp_path, rep_north):
    with pytest.raises(CommandError, match="No active user"):
        call_command("leads", "import", str(tmp_path / "x.csv"), "--as", "ghost")
    with pytest.raises(CommandError):
        call_command("leads", "import", str(tmp_path / "missing.csv"), "--as", "rep_north")
