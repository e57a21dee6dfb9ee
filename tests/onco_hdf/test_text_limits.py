"""Every free-text field of every form has a maximum length, refused with a French message.

A convention clause once accepted 8 MB; its PDF and history page then took minutes."""

from __future__ import annotations

import importlib
import inspect

import pytest
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.conftest import login

FORM_MODULES = (
    "onco_hdf.forms",
    "onco_hdf.auth_views",
    "surveys.forms",
    "contouring.forms",
    "cyber_continuity.forms",
    "habilitations.forms",
)


def _project_forms():
    for module_name in FORM_MODULES:
        module = importlib.import_module(module_name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module_name:
                yield cls


def _text_fields():
    for form_class in _project_forms():
        for name, field in form_class.base_fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field, forms.JSONField):
                yield pytest.param(field, id=f"{form_class.__name__}.{name}")


def test_the_project_has_forms_with_text_fields():
    assert len(list(_text_fields())) > 60


@pytest.mark.parametrize("field", list(_text_fields()))
def test_every_text_field_refuses_an_oversize_value_in_french(field):
    assert field.max_length is not None
    assert field.max_length <= settings.FORM_TEXT_MAX_LENGTH
    with pytest.raises(ValidationError) as error:
        field.clean("A" * (field.max_length + 1))
    assert "au plus" in " ".join(error.value.messages)
    if field.widget.is_hidden:
        return  # nobody types in a hidden field (a signed hash): the server-side bound is the guard
    assert f'maxlength="{field.max_length}"' in str(
        field.widget.render("x", "", field.widget_attrs(field.widget))
    )


def test_fields_built_at_run_time_are_bounded_too():
    assert forms.CharField().max_length == settings.FORM_TEXT_MAX_LENGTH
    assert forms.CharField(max_length=30).max_length == 30
    assert forms.EmailField().max_length == 320


@pytest.mark.django_db
def test_a_one_megabyte_clause_is_refused_and_the_typed_text_kept(convention_text_clause):
    convention, clause, client = convention_text_clause
    url = reverse("cyber_continuity:convention-clause-edit", args=[convention.pk, clause.pk])
    huge = "Clause très longue. " * 50_000
    response = client.post(url, {"body": huge, "version": clause.version})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Assurez-vous que cette valeur comporte au plus 20000 caractères" in html
    assert huge[:2000] in html  # nothing typed is lost
    before = clause.body
    clause.refresh_from_db()
    assert clause.body == before


@pytest.fixture
def convention_text_clause(pm, referent_a, centre_a, centre_b):
    from cyber_continuity import services

    template = services.template_create(title="Convention type (test)", user=pm)
    version = services.template_version_publish(version=template.versions.get(), user=pm)
    convention = services.convention_create(
        template_version=version, centres=[centre_a, centre_b], title="A — B", user=referent_a
    )
    clause = convention.clauses.filter(negotiable=True).first()
    return convention, clause, login(referent_a)
