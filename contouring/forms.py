"""Forms of the contouring app (validation of what people type; the writes are services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from contouring.models import (
    AnatomicalSite,
    CeMarking,
    ClinicalCase,
    ClinicalObjective,
    ObjectiveMetric,
    Solution,
)
from onco_hdf.models import Centre


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class CaseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    site = forms.ChoiceField(label=_("Anatomical site"), choices=AnatomicalSite.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class MultipleFileField(forms.FileField):
    """Several files in one input (a zip, or the files of a series); a list, maybe empty."""

    def __init__(self, *args, attrs=None, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True, **(attrs or {})}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        items = list(data) if isinstance(data, (list, tuple)) else [data]
        items = [item for item in items if item]
        if not items:
            single(None, initial)  # "required" when the field is
            return []
        return [single(item, initial) for item in items]


def _is_folder_clutter(upload) -> bool:
    """Files a folder of DICOM images holds besides the images (index, hidden files)."""
    name = upload.name.rsplit("/", 1)[-1]
    return name.startswith(".") or name.upper() in {"DICOMDIR", "THUMBS.DB", "DESKTOP.INI"}


class CaseCreateForm(CaseForm):
    ct_files = MultipleFileField(
        label=_("CT series"),
        required=False,
        help_text=_(
            "A zip file or the DICOM files of the series (several files allowed). "
            "The zip may also hold the reference RTSTRUCT."
        ),
    )
    ct_folder = MultipleFileField(
        label=_("…or the folder of the CT series"),
        required=False,
        attrs={"webkitdirectory": True, "directory": True},
        help_text=_("Choose the folder that holds the images: every file in it is sent."),
    )
    reference = forms.FileField(
        label=_("Reference RTSTRUCT (expert contours)"),
        required=False,
        help_text=_("Not needed if the zip above already holds it."),
    )

    def clean(self):
        cleaned = super().clean()
        folder = [f for f in cleaned.get("ct_folder") or [] if not _is_folder_clutter(f)]
        cleaned["ct_uploads"] = [*(cleaned.get("ct_files") or []), *folder]
        if not cleaned["ct_uploads"] and not self.has_error("ct_files"):
            self.add_error("ct_files", _("Choose the CT series: a zip, its files or its folder."))
        return cleaned


class StructureChoiceForm(forms.Form):
    structures = forms.MultipleChoiceField(
        label=_("Structures compared"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["structures"].choices = [(str(s.pk), s.name) for s in case.structures.all()]
        self.fields["structures"].initial = [
            str(s.pk) for s in case.structures.filter(is_compared=True)
        ]


class SolutionForm(forms.ModelForm):
    class Meta:
        model = Solution
        fields = ["vendor", "product", "model_version", "ce_marking"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ce_marking"].choices = CeMarking.choices


class SubmissionForm(forms.Form):
    solution = forms.ModelChoiceField(label=_("Solution"), queryset=Solution.objects.none())
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=Centre.objects.none())
    file = forms.FileField(
        label=_("RTSTRUCT produced by the solution"),
        help_text=_(
            "The DICOM RTSTRUCT file exactly as the software produced it (or a zip "
            "holding only it)."
        ),
    )
    attested = forms.BooleanField(
        label=_(
            "I attest that these contours are the raw output of the software, with no "
            "manual retouching (aucune retouche manuelle)."
        ),
        required=True,
        error_messages={"required": _("The no-retouching attestation is required.")},
    )
    justification = forms.CharField(
        label=_("Why the file's header differs from the declared solution"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Needed only when the header (Manufacturer, ManufacturerModelName) names "
            "another product, e.g. a planning system that re-exported the file."
        ),
    )

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["solution"].queryset = Solution.objects.all()
        self.fields["centre"].queryset = centres
        if centres.count() == 1:
            self.fields["centre"].initial = centres.first().pk


class MappingForm(forms.Form):
    """One select per compared structure: which ROI of the file stands for it."""

    def __init__(self, *args, submission, mappings, **kwargs):
        super().__init__(*args, **kwargs)
        rois = list(submission.rois.all())
        choices = [("", _("— not present in this file —"))] + [
            (str(roi.pk), roi.name + (f" ({_('empty')})" if roi.is_empty else "")) for roi in rois
        ]
        self.rows = []
        for mapping in mappings:
            name = f"structure_{mapping.structure_id}"
            self.fields[name] = forms.ChoiceField(
                label=mapping.structure.name,
                choices=choices,
                required=False,
                initial=str(mapping.roi_id) if mapping.roi_id else "",
            )
            self.rows.append((mapping, name))

    def choices(self) -> dict[int, int | None]:
        out = {}
        for mapping, name in self.rows:
            value = self.cleaned_data.get(name)
            out[mapping.structure_id] = int(value) if value else None
        return out

    def bound_rows(self):
        return [(mapping, self[name]) for mapping, name in self.rows]


class ComparisonStartForm(forms.Form):
    include_consensus = forms.BooleanField(
        label=_("Also compare the majority-vote consensus of the solutions with the reference"),
        required=False,
        initial=True,
    )


class CaseDoseForm(forms.Form):
    dose = forms.FileField(
        label=_("RTDOSE of the reference plan"),
        help_text=_(
            "The planned dose (DICOM RTDOSE, in Gy) computed on this case's CT; every structure "
            "set's DVH is computed on it."
        ),
    )
    plan = forms.FileField(
        label=_("RTPLAN (optional)"),
        required=False,
        help_text=_("The plan of this dose: its prescription is shown with the objectives."),
    )


class ProtocolForm(forms.Form):
    """A new version of the comparison protocol from the current cases and solutions."""

    title = forms.CharField(
        label=_("Title"), max_length=200, initial=_("Auto-contouring comparison protocol")
    )
    notes = forms.CharField(
        label=_("What this version changes, or why it is created"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    cases = forms.ModelMultipleChoiceField(
        label=_("Clinical cases"),
        queryset=ClinicalCase.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one clinical case.")},
    )
    solutions = forms.ModelMultipleChoiceField(
        label=_("Solutions"),
        queryset=Solution.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one solution.")},
    )

    def __init__(self, *args, cases, solutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = cases
        self.fields["solutions"].queryset = solutions
        self.fields["cases"].initial = [c.pk for c in cases]
        self.fields["solutions"].initial = [s.pk for s in solutions]


class ReportFinalForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ClinicalObjectiveForm(forms.ModelForm):
    class Meta:
        model = ClinicalObjective
        fields = ["structure", "site", "metric", "level", "comparator", "threshold", "note"]
        localized_fields = ["level", "threshold"]  # "47,5" as French people write it

    def clean_structure(self):
        name = self.cleaned_data["structure"].strip()
        if not name:
            raise forms.ValidationError(_("Give the structure's TG-263 name."))
        return name

    def clean(self):
        cleaned = super().clean()
        metric, level = cleaned.get("metric"), cleaned.get("level")
        threshold = cleaned.get("threshold")
        if metric in (ObjectiveMetric.D_PERCENT, ObjectiveMetric.V_GY):
            if level is None:
                self.add_error("level", _("Give the x of this metric (Dx or Vx Gy)."))
            elif metric == ObjectiveMetric.D_PERCENT and not 0 < level <= 100:
                self.add_error("level", _("The x of Dx is a percentage between 0 and 100."))
            elif metric == ObjectiveMetric.V_GY and not 0 < level <= 200:
                self.add_error("level", _("The x of Vx Gy is a dose between 0 and 200 Gy."))
        elif metric and level is not None:
            self.add_error("level", _("Dmean, Dmax and Dmin take no x: leave this field empty."))
        if threshold is not None:
            if threshold < 0:
                self.add_error("threshold", _("The threshold cannot be negative."))
            elif metric == ObjectiveMetric.V_GY and threshold > 100:
                self.add_error(
                    "threshold", _("For Vx Gy the threshold is a percentage of the volume (0–100).")
                )
        return cleaned
