"""What every layer of the kit stands on: the course's paths, its options, the students' language,
text made safe for where it is shown, and each TP's manifest. Nothing here imports the rest of the kit."""
