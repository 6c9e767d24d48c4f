//! Link previews on the wire (PROTOCOL.md "Link previews"): what the server
//! read of a page a message links to, in the snake_case of the JSON routes
//! and the camelCase of the frames. The image is always the server's own
//! copy, never the other site's address.

use serde::{Deserialize, Serialize};

use super::ids::PreviewImageId;

/// A preview's picture: the server's re-encoded copy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PreviewImage {
    /// `/chat/previews/{id}/image`.
    pub url: String,
    /// Width in pixels of the stored copy.
    pub width: u32,
    /// Height in pixels of the stored copy.
    pub height: u32,
}

impl PreviewImage {
    /// The route of a stored preview image.
    pub fn url_of(id: PreviewImageId) -> String {
        format!("/chat/previews/{id}/image")
    }
}

/// What one linked page says about itself, as the JSON routes send it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkPreview {
    /// The link as written in the message (the card opens it).
    pub url: String,
    /// The page's title (`og:title`, else `<title>`).
    #[serde(default)]
    pub title: Option<String>,
    /// Its description (`og:description`, else `<meta name=description>`).
    #[serde(default)]
    pub description: Option<String>,
    /// The site's name (`og:site_name`).
    #[serde(default, alias = "siteName")]
    pub site_name: Option<String>,
    /// Its picture, as the server stored it.
    #[serde(default)]
    pub image: Option<PreviewImage>,
}

impl LinkPreview {
    /// The host a card names when the page gives no site name.
    pub fn host(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let host = &rest[..end];
        host.rsplit_once('@').map_or(host, |(_, h)| h)
    }
}

/// [`LinkPreview`] with the camelCase names of the frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireLinkPreview {
    /// The link.
    pub url: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Site name.
    #[serde(rename = "siteName", default)]
    pub site_name: Option<String>,
    /// Picture.
    #[serde(default)]
    pub image: Option<PreviewImage>,
}

impl From<&LinkPreview> for WireLinkPreview {
    fn from(p: &LinkPreview) -> Self {
        WireLinkPreview {
            url: p.url.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            site_name: p.site_name.clone(),
            image: p.image.clone(),
        }
    }
}

impl From<WireLinkPreview> for LinkPreview {
    fn from(p: WireLinkPreview) -> Self {
        LinkPreview {
            url: p.url,
            title: p.title,
            description: p.description,
            site_name: p.site_name,
            image: p.image,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_read_from_the_link() {
        let p = |url: &str| LinkPreview {
            url: url.into(),
            title: None,
            description: None,
            site_name: None,
            image: None,
        };
        assert_eq!(p("https://example.com/a?b").host(), "example.com");
        assert_eq!(p("http://example.com:8080").host(), "example.com:8080");
        assert_eq!(p("https://u@example.com#x").host(), "example.com");
    }

    #[test]
    fn frames_say_site_name_in_camel_case() {
        let p = LinkPreview {
            url: "https://example.com".into(),
            title: Some("T".into()),
            description: None,
            site_name: Some("S".into()),
            image: None,
        };
        let json = serde_json::to_value(WireLinkPreview::from(&p)).unwrap();
        assert_eq!(json["siteName"], "S");
        let back: WireLinkPreview = serde_json::from_value(json).unwrap();
        assert_eq!(LinkPreview::from(back), p);
    }
}
