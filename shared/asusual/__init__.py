"""asusual: a serverless cross-channel personalization engine for retailers.

Every Lambda in ``functions/`` imports this package. Sub-packages hold pure business rules
(``intake``, later ``identity``, ``profiles`` ...); ``store`` holds the AWS adapters; ``local``
runs the same handlers on one machine and is never imported by a function.
"""

__version__ = "0.1.0"
