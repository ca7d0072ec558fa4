"""``{{ user|person }}``: names as the center writes them, in every page that lists staff."""

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template

pytestmark = pytest.mark.django_db


def _render(user) -> str:
    return Template("{% load org_tags %}[{{ user|person }}]").render(Context({"user": user}))


def test_a_chinese_name_reads_family_name_first_without_a_space():
    user = get_user_model().objects.create_user("risk-q", first_name="蕾", last_name="钱")
    assert _render(user) == "[钱蕾]"


def test_other_names_read_first_last_and_no_name_is_the_username():
    users = get_user_model().objects
    assert _render(users.create_user("ann", first_name="Ann", last_name="Lee")) == "[Ann Lee]"
    assert _render(users.create_user("switch")) == "[switch]"
    assert _render(None) == "[]"
