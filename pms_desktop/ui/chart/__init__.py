"""The clinical chart: summary column, timeline, note editor, vitals, results and letters."""
