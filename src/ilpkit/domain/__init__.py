"""The clinical domain: patients, tumours, perfusions, responses, outcome events, their rules.

Pure Python: nothing here touches a database, a file or a web framework.
"""
