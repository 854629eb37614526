from django import forms
from django.contrib import admin
from django.utils.html import format_html

from . import capture, services
from .models import WebForm


class WebFormAdminForm(forms.ModelForm):
    allowed_fields = forms.MultipleChoiceField(
        choices=[(f, f.replace("_", " ")) for f in services.FORM_FIELDS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Left empty: first and last name, email, phone, company and job title.",
    )

    class Meta:
        model = WebForm
        fields = [
            "name",
            "slug",
            "allowed_fields",
            "default_owner",
            "default_team",
            "campaign",
            "redirect_url",
            "is_active",
        ]


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    """Web forms are configuration: their leads go through `leads.services.lead_capture`."""

    form = WebFormAdminForm
    list_display = ["name", "slug", "campaign", "default_owner", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["embed_snippet"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        """Through the services, as the API writes web forms: checked and audited."""
        data = {name: form.cleaned_data[name] for name in WebFormAdminForm.Meta.fields}
        if change:
            current = WebForm.objects.get(pk=obj.pk)
            saved = services.web_form_update(actor=request.user, web_form=current, data=data)
        else:
            saved = services.web_form_create(actor=request.user, data=data)
        obj.pk = saved.pk

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        services.web_form_delete(actor=request.user, web_form=obj)

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        for web_form in queryset:
            services.web_form_delete(actor=request.user, web_form=web_form)

    @admin.display(description="HTML snippet to paste into a web page")
    def embed_snippet(self, obj: WebForm) -> str:
        if obj.pk is None:
            return "Save the form to see its snippet."
        request = getattr(self, "_request", None)
        base = request.build_absolute_uri("/") if request is not None else "/"
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>', capture.embed_snippet(obj, base)
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        self._request = request
        return super().get_form(request, obj, change=change, **kwargs)
