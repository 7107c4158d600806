"""The edge layer: DNS, certificates, CloudFront and WAF."""
