"""The roles every Patron organisation starts with. Admins may edit them or add others."""

CUSTOMER_RECORDS = ["contact", "account"]

DEFAULT_ROLES = [
    {
        "slug": "admin", "name": "Administrator", "sees_all_records": True, "manages_team": True,
        "permissions": ["*"],
        "description": "Everything, including configuration and every record.",
    },
    {
        "slug": "manager", "name": "Sales manager", "sees_all_records": False,
        "manages_team": True,
        "permissions": ["contact.*", "account.*", "timeline.*"],
        "description": "Works the team's records, including private ones, and may delete.",
    },
    {
        "slug": "sales_rep", "name": "Sales rep", "sees_all_records": False, "manages_team": False,
        "permissions": ["contact.view", "contact.add", "contact.change", "contact.export",
                        "account.view", "account.add", "account.change", "account.export",
                        "timeline.*"],
        "description": "Works their own records (and the team's, when records are shared).",
    },
    {
        "slug": "marketer", "name": "Marketer", "sees_all_records": False, "manages_team": False,
        "permissions": ["contact.view", "contact.add", "contact.change", "contact.export",
                        "account.view", "account.export", "timeline.view", "timeline.add"],
        "description": "Builds audiences: reads and enriches contacts, logs activities.",
    },
    {
        "slug": "service_agent", "name": "Service agent", "sees_all_records": False,
        "manages_team": False,
        "permissions": ["contact.view", "contact.change", "account.view", "timeline.view",
                        "timeline.add", "timeline.change"],
        "description": "Helps customers: reads and corrects contacts, logs calls and notes.",
    },
    {
        "slug": "read_only", "name": "Read-only", "sees_all_records": False,
        "manages_team": False,
        "permissions": ["contact.view", "account.view", "timeline.view"],
        "description": "Looks, never touches.",
    },
]
