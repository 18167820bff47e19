"""French: "4 déc. 2026 à 15:00", the same few names as core/formats/en."""

DATE_FORMAT = "j N Y"  # 4 déc. 2026
DATETIME_FORMAT = r"j N Y \à H:i"  # 4 déc. 2026 à 15:00
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
MONTH_DAY_FORMAT = "j F"  # 4 décembre
YEAR_MONTH_FORMAT = "F Y"  # décembre 2026
FIRST_DAY_OF_WEEK = 1
