"""Emergency-contact hygiene (category ``contacts``), keyed by the employee who lists the contact."""
