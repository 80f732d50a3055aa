"""The Reports screen: pick a report and dates; table and chart on screen; export PDF/CSV."""
