"""The RA's register of certificates: written by issuance, read by the checks (holder
uniqueness), delivery, retention and the portal."""
