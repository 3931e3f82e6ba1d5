package cardprint_test

import (
	"bytes"
	"fmt"
	"os"

	"baluchon/cardprint"
	"baluchon/vault"
)

// A structure registers a person who reads Arabic: it prints the card on
// an A4 sheet (the default layout) and gives it to the person.
func ExampleWrite() {
	card, err := vault.NewCard(nil)
	if err != nil {
		panic(err)
	}
	var pdf bytes.Buffer
	err = cardprint.Write(&pdf, cardprint.Card{
		Text:      card.String(),
		Structure: "Accueil de jour de Montreuil",
		Lang:      "ar",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")))
	// Output: true
}

// A worker uploads a photo of a card: the page gets the card text, or an
// error it can show as is.
func ExampleDecodeImage() {
	f, err := os.Open("testdata/photo.jpg")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	text, err := cardprint.DecodeImage(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(text), "characters")
	// Output: 34 characters
}

func ExampleLanguages() {
	for _, lang := range cardprint.Languages() {
		fmt.Println(lang, cardprint.LanguageName(lang))
	}
	// Output:
	// ar العربية
	// bn বাংলা
	// en English
	// es Español
	// fa-AF دری
	// fr Français
	// ka ქართული
	// ps پښتو
	// ro Română
	// ru Русский
	// so Soomaali
	// sq Shqip
	// ta தமிழ்
	// ti ትግርኛ
	// uk Українська
	// ur اردو
}
