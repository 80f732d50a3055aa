"""PDFs (reportlab): invoices, receipts, day sheets, reports. No database, no Qt."""
