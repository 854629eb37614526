"""Every webhook page resolves to a webhooks view (no other app's route shadows it)."""

import pytest
from django.urls import resolve, reverse

from patron.webhooks import urls


@pytest.mark.parametrize("pattern", urls.urlpatterns, ids=lambda p: p.name)
def test_each_url_reaches_its_view(pattern):
    kwargs = {"pk": 7} if "<int:pk>" in str(pattern.pattern) else {}
    match = resolve(reverse(pattern.name, kwargs=kwargs))
    assert match.func.__module__ == "patron.webhooks.views"
    assert match.url_name == pattern.name
