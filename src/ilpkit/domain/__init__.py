"""The clinical domain: patients, tumours, perfusions, responses and outcome events, and their rules.

Pure Python: nothing here touches a database, a file or a web framework.
"""
