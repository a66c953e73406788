package qris

// The test vectors of design/qris.md, "Test vectors (checked)". Every one is
// used by a test: crcVectors by TestCRC, payloadVectors by TestCRC,
// TestVerifyCRC, TestParseRoundTrip, TestValidateVectors and TestToDynamic,
// and all of them seed FuzzParse (testdata/fuzz/FuzzParse) and
// FuzzToDynamic.

// crcVectors are checksums of plain strings.
var crcVectors = []struct {
	in, want string
}{
	{"123456789", "29B1"},
	{"", "FFFF"},
	{"A", "B915"},
	{"000201010212530336054032305802ID6304", "0069"}, // the leading zero is kept
}

// payloadVectors are static payloads with their checksum, and the dynamic
// payload each becomes for amount and tip.
var payloadVectors = []struct {
	name    string
	static  string
	crc     string // of static
	amount  int64
	tip     Tip
	dynamic string
	tags    []string // IDs of static, in order
}{
	{
		name:    "Warung Sayur Bu Sugeng",
		static:  "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID5922Warung Sayur Bu Sugeng6010Kab. Demak610559567630458C7",
		crc:     "58C7",
		amount:  50000,
		dynamic: "00020101021226570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605405500005802ID5922Warung Sayur Bu Sugeng6010Kab. Demak61055956763040F25",
		tags:    []string{"00", "01", "26", "51", "52", "53", "58", "59", "60", "61", "63"},
	},
	{
		name:    "dpangestuw",
		static:  "00020101021126570011ID.DANA.WWW011893600915362751266202096275126620303UMI51440014ID.CO.QRIS.WWW0215ID10243193490550303UMI5204594553033605802ID5910dpangestuw6012Kab. Bandung6105402386304AC2C",
		crc:     "AC2C",
		amount:  50000,
		dynamic: "00020101021226570011ID.DANA.WWW011893600915362751266202096275126620303UMI51440014ID.CO.QRIS.WWW0215ID10243193490550303UMI5204594553033605405500005802ID5910dpangestuw6012Kab. Bandung610540238630482C0",
		tags:    []string{"00", "01", "26", "51", "52", "53", "58", "59", "60", "61", "63"},
	},
	{
		name:    "Sintas Store, fixed fee",
		static:  "00020101021126630016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI51440014ID.CO.QRIS.WWW0215ID20200340731930303UKE5204482953033605802ID5912Sintas Store6015Kota Yogyakarta61055500062070703A0163049FB7",
		crc:     "9FB7",
		amount:  1337,
		tip:     Tip{Kind: TipFixed, Fixed: 666},
		dynamic: "00020101021226630016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI51440014ID.CO.QRIS.WWW0215ID20200340731930303UKE5204482953033605404133755020256036665802ID5912Sintas Store6015Kota Yogyakarta61055500062070703A016304F98B",
		tags:    []string{"00", "01", "26", "51", "52", "53", "58", "59", "60", "61", "62", "63"},
	},
}

// parsedVector is the first static vector split into its data objects.
var parsedVector = Payload{
	{"00", "01"},
	{"01", "11"},
	{"26", "0011ID.DANA.WWW011893600915302259148102090225914810303UMI"},
	{"51", "0014ID.CO.QRIS.WWW0215ID10200176114730303UMI"},
	{"52", "5812"},
	{"53", "360"},
	{"58", "ID"},
	{"59", "Warung Sayur Bu Sugeng"},
	{"60", "Kab. Demak"},
	{"61", "59567"},
	{"63", "58C7"},
}
