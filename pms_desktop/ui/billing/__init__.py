"""Billing screens: invoices, payments, credit notes, the fee schedule and a patient's account."""
