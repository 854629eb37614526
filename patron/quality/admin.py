"""Configuration of entity resolution in the admin: survivorship rules per field (editable),
and the decisions and runs (read-only, for support and auditing)."""

from django import forms
from django.contrib import admin

from .models import MatchDecision, ResolutionRun, SurvivorshipRule
from .survivorship import DEFAULT_RULES, FIELD_LABELS


class SurvivorshipRuleForm(forms.ModelForm):
    class Meta:
        model = SurvivorshipRule
        fields = ["object_type", "field", "rule"]

    field = forms.ChoiceField(
        choices=sorted(
            {(f, FIELD_LABELS.get(f, f)) for fields in DEFAULT_RULES.values() for f in fields},
            key=lambda choice: str(choice[1]),
        ),
        help_text="The golden-record field this rule decides.",
    )

    def clean(self):
        data = super().clean()
        object_type, field = data.get("object_type"), data.get("field")
        if object_type and field and field not in DEFAULT_RULES[object_type]:
            self.add_error("field", f"{object_type.title()}s have no field '{field}'.")
        return data


@admin.register(SurvivorshipRule)
class SurvivorshipRuleAdmin(admin.ModelAdmin):
    form = SurvivorshipRuleForm
    list_display = ["object_type", "field", "rule"]
    list_filter = ["object_type", "rule"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MatchDecision)
class MatchDecisionAdmin(ReadOnlyAdmin):
    list_display = [
        "object_type",
        "key_a",
        "key_b",
        "verdict",
        "reason",
        "decided_by",
        "decided_at",
    ]
    list_filter = ["verdict", "object_type"]


@admin.register(ResolutionRun)
class ResolutionRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "object_type", "mode", "status", "records", "merges", "review_pairs",
                    "created_at", "finished_at"]  # fmt: skip
    list_filter = ["mode", "status"]
