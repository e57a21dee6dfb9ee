"""``{% copil_badge artefact %}``: "validé en COPIL le dd/mm/yyyy", linking to the decision.

The same tag prints the badge in PDFs (``pdf=True``: text, no link). Nothing is shown for an
artefact the COPIL has not validated at its current version.
"""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string

from onco_hdf import governance, permissions

register = template.Library()


@register.simple_tag(takes_context=True)
def copil_badge(context, artefact, pdf=False):
    if artefact is None or governance.kind_of(artefact) is None:
        return ""
    decision = governance.validation_of(artefact)
    if decision is None:
        return ""
    request = context.get("request")
    user = getattr(request, "user", None)
    return render_to_string(
        "onco_hdf/includes/copil_badge.html",
        {
            "decision": decision,
            "text": governance.badge_text(decision),
            "link": not pdf and user is not None and permissions.can_view_copil(user),
            "pdf": pdf,
        },
    )
