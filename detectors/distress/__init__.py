"""Financial distress signals (category ``distress``): sensitive personal information (PIPL Art. 28)."""
