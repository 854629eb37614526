"""The commerce UI, by subject: the catalogue, quotes and orders, and what commerce shows on
accounts, contacts and opportunities."""

from .catalogue import (
    credit_limit_edit,
    price_list_detail,
    price_list_edit,
    price_list_list,
    price_remove,
    product_detail,
    product_edit,
    product_list,
)
from .documents import (
    order_action,
    order_detail,
    order_edit,
    order_list,
    order_pdf,
    quote_action,
    quote_detail,
    quote_edit,
    quote_line_row,
    quote_list,
    quote_pdf,
    quote_preview,
)
from .records import (
    opportunity_product_remove,
    opportunity_products,
    opportunity_products_panel,
    quote_from_opportunity,
    record_panel,
)

__all__ = [
    "product_list",
    "product_detail",
    "product_edit",
    "price_list_list",
    "price_list_detail",
    "price_remove",
    "price_list_edit",
    "credit_limit_edit",
    "quote_list",
    "quote_edit",
    "quote_preview",
    "quote_line_row",
    "quote_detail",
    "quote_action",
    "quote_pdf",
    "order_list",
    "order_edit",
    "order_detail",
    "order_action",
    "order_pdf",
    "record_panel",
    "opportunity_products",
    "opportunity_products_panel",
    "opportunity_product_remove",
    "quote_from_opportunity",
]
