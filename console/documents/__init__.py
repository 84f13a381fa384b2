"""Files the services produce that are not reports: the reissued notices' PDF and the print batches' lists."""
