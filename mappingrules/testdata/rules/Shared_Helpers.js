// Helpers other rules include with importMappingRule.
function claim(name, value) {
	return new Attribute(name, "urn:ibm:jwt:claim", value);
}
const HELPER_VERSION = "2";
