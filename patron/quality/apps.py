from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Data quality: readiness reports, quality scores, entity resolution, survivorship,
    lineage of golden-record values, the review queue, merge and unmerge."""

    name = "patron.quality"
    label = "quality"
    verbose_name = "Data quality"

    def ready(self) -> None:
        from patron.customers import panels

        panels.register(panels.RecordPanel("duplicates", "Possible duplicates", "duplicates_panel"))
        panels.register_form_hint("duplicates", "duplicate_check")
        panels.register(panels.RecordPanel("quality", "Data quality", "score_panel"))

        from patron.core import jobs

        from .tasks import periodic, resolve_new_records

        jobs.register_periodic("quality", 24 * 3600, periodic)
        jobs.register_periodic("resolution", 300, resolve_new_records)

        from patron.core import events

        from .survivorship import hand_edits_record

        events.subscribe(hand_edits_record)
        panels.register(
            panels.RecordPanel("lineage", "Where the values come from", "lineage_panel")
        )
