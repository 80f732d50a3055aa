"""The appointment book, booking dialogs and the waiting room."""
