"""Reading and writing REDCap files: the data dictionary, raw records and the mapping file."""
